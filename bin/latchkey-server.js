// `npm start`: the server from the compiled build, after the check that the
// build is there and not older than the sources. npm runs it with `exec`, so
// this node process is the one npm signals: SIGTERM and SIGINT stop it.
// Under a process manager or in a container, run `node dist/app/src/main.js`.
import { pathToFileURL } from 'node:url';
import { compiled } from './build-check.js';

await import(pathToFileURL(compiled('src/main.js')).href);
