import { DIGEST_FORM } from '../image/digest.js';
import { splitDockerDomain } from '../image/docker-reference.js';
import { RegistryError } from './errors.js';

/**
 * A parsed image reference, by the grammar of distribution's reference package
 * (reference/regexp.go, normalize.go): `[domain/]path[:tag][@digest]`. The first component is
 * the domain as image/docker-reference.ts's splitDockerDomain says (a `.` or `:`, `localhost`
 * or an upper-case letter; `index.docker.io` is docker.io; else docker.io, and a
 * one-component path gets `library/`), then checked here. A reference with neither tag nor
 * digest is `:latest`. With both, the digest decides what is pulled (as docker and containerd
 * do) and the tag is kept as the name.
 */
export interface Reference {
  /** The reference as given, for messages. */
  readonly given: string;
  /** `host[:port]` as written (docker.io for Docker Hub). */
  readonly domain: string;
  /** The repository path: `library/alpine`, `team/app`. */
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9A-Fa-f:.]+\\])(?::[0-9]+)?$`);
const TAG = /^[\w][\w.-]{0,127}$/;
/** reference.NameTotalLengthMax. */
const NAME_MAX = 255;

export function parseReference(given: string): Reference {
  const bad = (why: string) => new RegistryError('ERR_REFERENCE', JSON.stringify(given).slice(0, 300), `not an image reference: ${why}`);
  if (typeof given !== 'string' || given.length === 0) throw bad('empty');
  let rest = given;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST_FORM.test(digest)) throw bad(`the digest ${JSON.stringify(digest).slice(0, 150)} is not sha256:<64 hex> or sha512:<128 hex>`);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw bad(`the tag ${JSON.stringify(tag).slice(0, 150)} is not [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`);
  }
  const { domain, path } = splitDockerDomain(rest);
  if (!DOMAIN.test(domain)) throw bad(`the registry host ${JSON.stringify(domain).slice(0, 150)} is not host[:port]`);
  const parts = path.split('/');
  if (parts.some((c) => !COMPONENT.test(c))) throw bad('the repository must be lowercase components [a-z0-9] joined by . _ __ or -, separated by /');
  const repository = parts.join('/');
  if (repository.length > NAME_MAX) throw bad(`the repository is longer than ${NAME_MAX} characters`);
  return { given, domain, repository, ...(tag !== undefined ? { tag } : digest === undefined ? { tag: 'latest' } : {}), ...(digest ? { digest } : {}) };
}

/** The canonical form: `domain/repository[:tag][@digest]`. */
export function formatReference(ref: Reference): string {
  return `${ref.domain}/${ref.repository}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

/** The host the HTTP requests go to: Docker Hub's API is registry-1.docker.io. */
export function apiHost(ref: Reference): string {
  return ref.domain === 'docker.io' ? 'registry-1.docker.io' : ref.domain;
}

/** Whether the host is this machine's loopback, where plain HTTP is allowed without `insecure`. */
export function isLoopback(host: string): boolean {
  const name = host.replace(/:[0-9]+$/, '').replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return name === 'localhost' || name === '::1' || /^127\.\d+\.\d+\.\d+$/.test(name);
}
