// One viewer votes in a live poll with the official socket.io-client (issue 14).
// Usage: node poll_vote.js URL TOKEN STREAM_ID POLL_ID OPTION_ID
// Prints one JSON line per thing that happens: joined (the join ack, with the open polls of stream_state),
// vote_ack, bad_ack (an unknown option: refused, the socket stays up); exits 0 after that.
const { io } = require("socket.io-client");

const [url, token, streamId, pollId, optionId] = process.argv.slice(2);
const say = (what, data) => console.log(JSON.stringify({ what, data }));
const socket = io(url + "/live-stream", { auth: { token }, transports: ["websocket"] });

socket.on("stream_state", (state) => say("stream_state", state));
socket.on("connect", () => {
  socket.emit("join_stream", { stream_id: streamId, viewer_info: { device_type: "desktop" } }, (ack) => {
    say("joined", ack);
    socket.emit("poll_vote", { poll_id: pollId, option_id: optionId }, (voteAck) => {
      say("vote_ack", voteAck);
      socket.emit("poll_vote", { poll_id: pollId, option_id: "o9" }, (bad) => {
        say("bad_ack", bad);
        socket.close();
        process.exit(0);
      });
    });
  });
});
socket.on("connect_error", (err) => { say("connect_error", { message: err.message }); process.exit(2); });
setTimeout(() => { say("timeout", {}); process.exit(3); }, 90000);
