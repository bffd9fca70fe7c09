/**
 * `lup console`: a browser console for live-ops on this machine: what every channel serves, its
 * history, refused uploads with their errors, and promote / rollback through the control path.
 */
import { DEFAULT_CONSOLE_PORT, startConsoleServer } from '../console/console-server';
import { UsageError } from './io';
import { printJson } from './operator-support';
import { registerCommand } from './program';
import { addTargetOptions, AWS_ENDPOINT, openTarget, type TargetOptions } from './target';

interface ConsoleOptions extends TargetOptions {
  readonly port: string;
  readonly host: string;
  readonly readOnly?: boolean;
  readonly json?: boolean;
}

const HELP = `
The console listens on loopback only and prints its URL with a random token; every request must
carry it, so other pages in your browser cannot drive it. It reads what \`lup status\` and
\`lup releases\` read, and promotes or rolls back through the same compare-and-swap flip as
\`lup promote\` / \`lup rollback\`, after a confirmation naming what will change. It polls the
channel pointers with ETags (a LIST, no GET, when nothing changed).

Actions need operator credentials: locally the operator key (the default), on AWS the operator
role with --control-function. With publisher credentials, --read-only, or against AWS without
--control-function, the console is read-only and says so.

Examples:
  $ lup console
      over the embedded local stack in .lup (stop \`lup local\` first, or pass --endpoint)
  $ lup console --endpoint http://127.0.0.1:4569
      over a running \`lup local\`
  $ lup console --endpoint aws --bucket studio-content-1a2b --control-function studio-control-9z8y`;

function isLoopbackEndpoint(endpoint: string): boolean {
  try {
    return /^(localhost|\[::1\]|127\.\d+\.\d+\.\d+)$/.test(new URL(endpoint).hostname);
  } catch {
    return false;
  }
}

registerCommand((program, io) => {
  const command = program
    .command('console')
    .description('Open a browser console on this machine: channels, history, uploads and their errors; promote and roll back with a confirmation.')
    .option('--port <port>', 'port of the console (0 = any free port)', String(DEFAULT_CONSOLE_PORT))
    .option('--host <address>', 'loopback address to listen on (127.0.0.1, ::1 or localhost)', '127.0.0.1')
    .option('--read-only', 'offer no actions; on a local endpoint, sign as the publisher (what a build machine sees)')
    .option('--json', 'print one JSON line {"url": "..."} when ready');
  addTargetOptions(command, { control: true });
  command.addHelpText('after', HELP);
  command.action(async (options: ConsoleOptions) => {
    const port = Number(options.port);
    if (!/^\d+$/.test(options.port) || port > 65535) throw new UsageError(`--port "${options.port}" is not a port number (0-65535; 0 picks a free one), for example --port ${DEFAULT_CONSOLE_PORT}.`);
    if (!/^(127\.\d+\.\d+\.\d+|::1|localhost)$/.test(options.host)) {
      throw new UsageError(`--host "${options.host}" is not a loopback address: the console can move channel pointers, so it listens on this machine only (127.0.0.1, ::1 or localhost).`);
    }
    const remote = options.endpoint !== undefined && (options.endpoint === AWS_ENDPOINT || !isLoopbackEndpoint(options.endpoint));
    const readOnlyReason = options.readOnly
      ? 'Started with --read-only: no actions are offered.'
      : remote && !options.controlFunction
        ? 'No --control-function: against a deployed stack only its control function may flip pointers. Restart with --control-function <ControlFunctionName> and the operator role to roll back from here.'
        : undefined;
    const target = await openTarget(options, io, options.readOnly ? 'publisher' : 'operator');
    try {
      let server;
      try {
        server = await startConsoleServer({ backend: target, port, host: options.host, readOnlyReason });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new UsageError(`--port ${port} is in use: is another \`lup console\` running? Pick another port, or --port 0 for a free one.`);
        throw error;
      }
      if (options.json) printJson(io, { url: server.url, readOnly: !server.access.actions });
      else {
        io.stdout(`Console for ${target.description}\n  open: ${server.url}\n`);
        if (server.access.reason) io.stdout(`  read-only: ${server.access.reason}\n`);
        io.stdout('  Ctrl-C stops it.\n');
      }
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          resolve();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      await server.close();
    } finally {
      await target.close();
    }
  });
});
