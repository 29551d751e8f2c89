// A receiver in its own process that reads every request and never answers: the sender's attempt
// deadline is what ends each one. Counts requests and the connections it holds open.
// Prints its port on the first line of stdout; answers the IPC message 'count' with { requests, open }.
import http from 'node:http';

let requests = 0;
const sockets = new Set();
const server = http.createServer((req) => {
  req.on('data', () => {});
  req.on('end', () => {
    requests++;
    // No response, ever.
  });
});
// Node's own server timeouts would otherwise end a held request after 5 minutes.
server.requestTimeout = 0;
server.headersTimeout = 0;
server.keepAliveTimeout = 60_000;
server.on('connection', (socket) => {
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
process.on('message', (m) => {
  if (m === 'count') process.send?.({ requests, open: sockets.size });
});
process.on('SIGTERM', () => {
  for (const socket of sockets) socket.destroy();
  server.close(() => process.exit(0));
});
