/**
 * A docker image reference in its normalised form (github.com/distribution/reference,
 * ParseNormalizedNamed then TagNameOnly): the registry is the first component when it has a
 * `.` or `:`, is `localhost` or has an upper-case letter, else `docker.io`
 * (`index.docker.io` is `docker.io` too); an official image on docker.io is under `library/`;
 * a reference without a tag or digest is `:latest`. `demo`, `demo:latest` and
 * `docker.io/library/demo:latest` are one reference: what `docker save` writes in RepoTags
 * (the name as given) and what skopeo writes (in full) are then found by either spelling.
 */
export function normalDockerRef(ref: string): string {
  const slash = ref.indexOf('/');
  const first = slash < 0 ? '' : ref.slice(0, slash);
  const named = slash >= 0 && (/[.:]/.test(first) || first === 'localhost' || first.toLowerCase() !== first);
  const domain = !named || first === 'index.docker.io' ? 'docker.io' : first;
  let path = named ? ref.slice(slash + 1) : ref;
  if (domain === 'docker.io' && !path.includes('/')) path = `library/${path}`;
  // A tag follows the last `:` after the last `/`; a digest follows `@`.
  const tagged = path.includes('@') || /:[^/]*$/.test(path);
  return `${domain}/${path}${tagged ? '' : ':latest'}`;
}
