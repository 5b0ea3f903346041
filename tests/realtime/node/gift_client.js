// A viewer with the official socket.io-client joins a show and waits for one gift_received (issue 14 part 3).
// Usage: node gift_client.js URL TOKEN STREAM_ID. Prints one JSON line per thing that happens; exits 0 on the gift.
const { io } = require("socket.io-client");

const [url, token, streamId] = process.argv.slice(2);
const say = (what, data) => console.log(JSON.stringify({ what, data }));
const socket = io(url + "/live-stream", { auth: { token }, transports: ["websocket"] });

const join = () => socket.emit("join_stream", { stream_id: streamId, viewer_info: { device_type: "mobile" } },
  (ack) => { if (ack && ack.ok) { say("joined", ack); } else { setTimeout(join, 200); } });
socket.on("connect", join);
socket.on("connect_error", (err) => { say("connect_error", { message: err.message }); process.exit(2); });
socket.on("gift_received", (data) => { say("gift_received", data); socket.close(); process.exit(0); });
setTimeout(() => { say("timeout", null); process.exit(3); }, 30000);
