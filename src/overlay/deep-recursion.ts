/**
 * Recursion without the call stack. A recursive algorithm is written as a generator that
 * yields where it would call itself (the value is the argument) and gets the callee's
 * outcome back at the yield: normal return, or the callee's exception thrown into it, so
 * try/catch around a "recursive call" works as in the recursive original. Trees in layers
 * nest deeper than the JavaScript stack allows (thousands of levels), and each frame here is
 * a heap object.
 */
export function recurse<A>(arg: A, frame: (arg: A) => Generator<A, void, void>): void {
  const stack: Array<Generator<A, void, void>> = [frame(arg)];
  let failure: { error: unknown } | undefined;
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    let step: IteratorResult<A, void>;
    try {
      step = failure ? top.throw(failure.error) : top.next();
      failure = undefined;
    } catch (error) {
      stack.pop();
      failure = { error };
      continue;
    }
    if (step.done) stack.pop();
    else stack.push(frame(step.value));
  }
  if (failure) throw failure.error;
}
