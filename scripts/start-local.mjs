// `npm start`: Azurite (blob, queue, table: the Functions host needs all three) plus `func start`,
// after `npm run build`. Azurite keeps its data in .azurite/ so calls survive a restart.
import { spawn, spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { existsSync } from 'node:fs';

if (!existsSync('local.settings.json')) {
  console.error('local.settings.json is missing: copy local.settings.sample.json to local.settings.json and fill it in.');
  process.exit(1);
}
if (spawnSync('func', ['--version'], { stdio: 'ignore', shell: process.platform === 'win32' }).status !== 0) {
  console.error(
    'Azure Functions Core Tools v4 (`func`) is not on PATH. Install it (`npm install -g azure-functions-core-tools@4`, or see ' +
      'https://learn.microsoft.com/azure/azure-functions/functions-run-local) and run `npm start` again.',
  );
  process.exit(1);
}

const azurite = spawn(
  process.execPath,
  ['node_modules/azurite/dist/src/azurite.js', '--location', '.azurite', '--silent', '--disableTelemetry', '--skipApiVersionCheck'],
  { stdio: 'inherit' },
);

const listening = (port) =>
  new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
for (let i = 0; i < 100 && !(await listening(10002)); i++) await new Promise((r) => setTimeout(r, 100));

const func = spawn('func', ['start'], { stdio: 'inherit', shell: process.platform === 'win32' });
const stop = () => {
  func.kill();
  azurite.kill();
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
func.on('exit', (code) => {
  azurite.kill();
  process.exit(code ?? 0);
});
