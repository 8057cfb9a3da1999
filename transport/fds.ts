// The fd operations the proxies use, from the fd/io layer: the proxies reach the addon through here, never directly.
export { closeAll, dup, flock, pipe2, unixConnect } from '../native/index';
