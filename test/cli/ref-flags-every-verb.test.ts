import { describe, expect, it } from 'vitest';
import { allVerbs } from '../../src/cli/registry.js';

/**
 * docs/cli.md: "Every verb that takes IMAGE also takes --store DIR, --pull, --insecure, --creds
 * and --authfile". Read from the verbs themselves, so a verb added later is checked too (a
 * list written in the test missed `mount`, which refused --store as an unknown flag).
 */
describe('the REF flags', () => {
  it('every verb that takes IMAGE (required, its manifest, or optional: serve, demo) has them', async () => {
    const verbs = await allVerbs();
    const takingImage = Object.entries(verbs).filter(([name, v]) => v.takes !== 'positionals' || name === 'serve' || name === 'demo');
    expect(takingImage.map(([name]) => name)).toContain('mount');
    for (const [name, verb] of takingImage) {
      for (const flag of ['store', 'pull', 'insecure', 'creds', 'authfile']) expect(Object.keys(verb.options ?? {}), `${name} --${flag}`).toContain(flag);
    }
  });
});
