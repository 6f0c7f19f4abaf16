// Minimal Socket.io chat broadcast server for scripts/bench/chat.sh: every
// `send` event is broadcast to every client (sender included) as `message`,
// the same job our chat server does (minus storing it).
const http = require('http');
const { Server } = require('socket.io');

const server = http.createServer();
const io = new Server(server, { transports: ['websocket'], serveClient: false });
let id = 0;
io.on('connection', (socket) => {
  socket.on('send', (m) => {
    id += 1;
    io.emit('message', { id, username: 'bench', text: m && m.text, sent_at: new Date().toISOString() });
  });
});
server.listen(Number(process.argv[2] || 0), '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`);
});
