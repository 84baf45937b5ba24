// Bench experiment only (issue 18, `http.workers`): run `railyard <args>` in N Node cluster
// workers. Each worker is an unchanged railyard process; its HTTP listen() goes through the
// cluster primary (this process), which accepts connections and hands them to the workers
// round-robin (Node 20 has no reusePort). The workers share one data dir (SQLite WAL).
//   node bench/lib/cluster-primary.js <workers> <cli.js> serve --config <file>
import cluster from 'node:cluster';

const [n, exec, ...args] = process.argv.slice(2);
cluster.setupPrimary({ exec, args, execArgv: [], silent: false });
for (let i = 0; i < Number(n); i++) cluster.fork();
let stopping = false;
cluster.on('exit', (worker, code, signal) => {
  if (stopping) return;
  process.stderr.write(`cluster-primary: worker ${worker.process.pid} exited (${code ?? signal})\n`);
  process.exit(1);
});
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    stopping = true;
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
    const wait = setInterval(() => {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
    }, 50);
    setTimeout(() => process.exit(0), 15_000).unref();
    wait.unref();
  });
}
