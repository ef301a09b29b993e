/**
 * A tree in preorder (each node before its children, children in the order given), with an
 * explicit stack of iterators instead of recursion: layers and upper trees can nest deeper
 * than the call stack (3,000 levels in the tests), and nested generators would cost O(depth)
 * per node. `children` is asked when a node's children are about to be walked; undefined
 * means none (or: do not descend).
 */
export function* preorder<T>(root: T, children: (node: T) => Iterable<T> | undefined): Generator<T> {
  yield root;
  const open: Iterator<T>[] = [];
  const below = children(root);
  if (below) open.push(below[Symbol.iterator]());
  while (open.length > 0) {
    const next = open[open.length - 1]!.next();
    if (next.done) {
      open.pop();
      continue;
    }
    yield next.value;
    const more = children(next.value);
    if (more) open.push(more[Symbol.iterator]());
  }
}
