// Bench experiment (issue 18, http.workers): `railyard serve` in N node:cluster workers that
// share one listening port (Node 20 has no reusePort; the primary accepts and hands each
// connection to a worker, round-robin). Every worker is a whole railyard on the same data
// dir and SQLite file (WAL, busy timeout); the data dir must have been started once before
// (its secret and admin token exist), or workers would race to create them.
//   node bench/lib/cluster-serve.mjs <workers> <bin/railyard.js> serve --config <file>
import cluster from 'node:cluster';

const [count, cli, ...args] = process.argv.slice(2);
let stopping = false;
cluster.setupPrimary({ exec: cli, args, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
for (let i = 0; i < Number(count); i++) cluster.fork();
cluster.on('exit', (worker, code, signal) => {
  if (!stopping) {
    process.stderr.write(`cluster-serve: worker ${worker.process.pid} exited (${code ?? signal})\n`);
    process.exit(1);
  }
  if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
});
process.on('SIGTERM', () => {
  stopping = true;
  for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
});
