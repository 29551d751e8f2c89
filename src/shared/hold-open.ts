/**
 * Keeps the process alive until `promise` settles. Every timer, socket and
 * worker of a sender is unref'd, so that a script which never calls close()
 * still exits; work the application awaits (drain(), close()) must not be cut
 * short by that, or Node ends the process with an unsettled await (exit 13).
 */
export function holdOpen<T>(promise: Promise<T>): Promise<T> {
  const timer = setInterval(() => {}, 2 ** 31 - 1);
  return promise.finally(() => clearInterval(timer));
}
