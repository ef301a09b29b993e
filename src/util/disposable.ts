/**
 * Gives a class whose instances have close() a `[Symbol.dispose]()` that calls it, so that
 * `using layer = ...` closes it, where the runtime has the symbol: Node 20.4 and later
 * (package.json allows Node 20.0). A class method written `[Symbol.dispose]()` would be named
 * "undefined" on an older runtime. Each class also declares the method in an interface of its
 * name, for TypeScript. `symbols` is the runtime's Symbol (a test passes one without it).
 */
export function addDispose(prototype: { close(): void }, symbols: { dispose?: symbol } = Symbol): void {
  const dispose = symbols.dispose;
  if (typeof dispose !== 'symbol') return;
  Object.defineProperty(prototype, dispose, {
    value(this: { close(): void }) {
      this.close();
    },
    writable: true,
    configurable: true,
  });
}
