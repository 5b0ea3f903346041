// The spec's own client snippet (§4.2), with the official socket.io-client, against a running API process.
// Usage: node spec_client.js URL TOKEN STREAM_ID
// Prints one JSON line per thing that happens; the Python test reads them and triggers the featured product
// over HTTP after "joined". Exits 0 once new_message, viewer_count_update and product_featured have arrived.
const { io } = require("socket.io-client");

const [url, token, streamId] = process.argv.slice(2);
const say = (what, data) => console.log(JSON.stringify({ what, data }));
const wanted = new Set(["new_message", "viewer_count_update", "product_featured"]);

// WebSocket connection for live stream
const socket = io(url + "/live-stream", {
  auth: { token },
  transports: ["websocket"],
});

socket.on("connect", () => {
  say("connected", { id: socket.id });
  // Join stream
  socket.emit("join_stream", {
    stream_id: streamId,
    viewer_info: { device_type: "mobile", location: "Dhaka" },
  }, (ack) => {
    say("joined", ack);
    // Send chat message
    socket.emit("send_message", {
      stream_id: streamId,
      message: "When will the iPhone be available?",
      message_type: "text",
    });
    // React to stream (like, heart, etc.)
    socket.emit("react", { stream_id: streamId, reaction_type: "like" });
  });
});

socket.on("connect_error", (err) => { say("connect_error", { message: err.message, data: err.data }); process.exit(2); });
socket.on("error", (data) => say("error", data));

const seen = (name) => (data) => {
  say(name, data);
  wanted.delete(name);
  if (wanted.size === 0) { socket.close(); process.exit(0); }
};
// Real-time events received
socket.on("new_message", seen("new_message"));
socket.on("viewer_count_update", seen("viewer_count_update"));
socket.on("product_featured", seen("product_featured"));
socket.on("flash_sale_started", (data) => say("flash_sale_started", data));

setTimeout(() => { say("timeout", [...wanted]); process.exit(3); }, 30000);
