// The video: hls.js (adaptive, low-latency mode when the playlist has partial segments), or the browser's own
// HLS player where there is one (Safari, iOS). hls.js is imported only when needed, after the page is usable.
const HLS = '/static/vendor/hls.js-1.7.4/hls.light.min.mjs';

/**
 * play(video, url, {onState}) → {stop()}. Before the host's first publish the playlist answers 404
 * stream_not_on_air: we ask again every few seconds until it is there. onState: 'waiting' | 'playing' | 'error'.
 */
export function play(video, url, { onState = () => {}, live = true } = {}) {
  let stopped = false;
  let hls = null;
  let timer = null;
  const retry = (ms) => {
    if (!stopped) timer = setTimeout(start, ms);
  };
  video.addEventListener('playing', () => onState('playing'));
  video.addEventListener('waiting', () => onState('buffering'));

  const native = video.canPlayType('application/vnd.apple.mpegurl') && !window.MediaSource;
  const loading = native ? null : import(HLS); // on its way while we ask for the playlist

  async function start() {
    if (stopped) return;
    const head = await fetch(url, { cache: 'no-store' }).catch(() => null);
    if (!head || !head.ok) {
      onState('waiting');
      retry(3000);
      return;
    }
    if (native) {
      video.src = url;
      video.play().catch(() => onState('tap_to_play'));
      return;
    }
    const { default: Hls } = await loading;
    if (!Hls.isSupported()) {
      onState('unsupported');
      return;
    }
    hls = new Hls({ lowLatencyMode: true, liveSyncDurationCount: 3, backBufferLength: live ? 30 : 90,
      manifestLoadingMaxRetry: 6, levelLoadingMaxRetry: 6, fragLoadingMaxRetry: 6 });
    hls.on(Hls.Events.ERROR, (_, data) => {
      if (!data.fatal) return;
      if (data.type === Hls.ErrorTypes.MEDIA_ERROR) {
        hls.recoverMediaError();
        return;
      }
      hls.destroy();
      hls = null;
      onState('waiting');
      retry(3000);
    });
    hls.on(Hls.Events.MANIFEST_PARSED, () => {
      video.play().catch(() => onState('tap_to_play'));
    });
    hls.loadSource(url);
    hls.attachMedia(video);
  }

  start();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
      if (hls) hls.destroy();
    },
  };
}
