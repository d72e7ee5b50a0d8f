// OpenEKM as a library.
export { createServer, type OpenEkmServer, type ServerOptions } from './server';
export { type Clock, ManualClock, systemClock } from './clock';
export { Code, KmsError } from './errors';
