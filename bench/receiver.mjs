// A receiver in its own process: keep-alive, answers 200 at once, counts requests.
// Prints its port on the first line of stdout.
import http from 'node:http';

let count = 0;
const server = http.createServer((req, res) => {
  req.on('data', () => {});
  req.on('end', () => {
    count++;
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
    res.end('ok');
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
process.on('message', (m) => {
  if (m === 'count') process.send?.(count);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
