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
  const { domain, path } = splitDockerDomain(ref);
  // A tag follows the last `:` after the last `/`; a digest follows `@`.
  const tagged = path.includes('@') || /:[^/]*$/.test(path);
  return `${domain}/${path}${tagged ? '' : ':latest'}`;
}

/**
 * distribution/reference's splitDockerDomain (normalize.go): the first component is the
 * registry when it has a `.` or `:`, is `localhost` or has an upper-case letter, else the
 * registry is `docker.io` (`index.docker.io` is `docker.io` too); a one-component path on
 * docker.io gains `library/`. Nothing is validated here: registry/reference.ts checks the
 * parts it pulls by, normalDockerRef compares docker save's tags as written.
 */
export function splitDockerDomain(name: string): { domain: string; path: string } {
  const slash = name.indexOf('/');
  const first = slash < 0 ? '' : name.slice(0, slash);
  const named = slash >= 0 && (/[.:]/.test(first) || first === 'localhost' || first.toLowerCase() !== first);
  const domain = !named || first === 'index.docker.io' ? 'docker.io' : first;
  let path = named ? name.slice(slash + 1) : name;
  if (domain === 'docker.io' && !path.includes('/')) path = `library/${path}`;
  return { domain, path };
}
