/**
 * `WWW-Authenticate` challenges (RFC 9110 §11.6.1: `scheme [token68 | auth-param *("," auth-param)]`,
 * several challenges separated by commas; auth-param values are tokens or quoted strings with
 * `\` escapes). The registry's Bearer challenge is `Bearer realm="...",service="...",scope="..."`
 * (distribution docs/spec/auth/token.md).
 */
export interface Challenge {
  /** Lowercased: `basic`, `bearer`. */
  scheme: string;
  /** Parameter names lowercased. */
  params: Record<string, string>;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/;

export function parseChallenges(header: string): Challenge[] {
  const out: Challenge[] = [];
  let s = header;
  const skip = () => void (s = s.replace(/^[\s,]+/, ''));
  skip();
  while (s.length > 0) {
    const scheme = TOKEN.exec(s)?.[0];
    if (!scheme) break;
    s = s.slice(scheme.length);
    const challenge: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    out.push(challenge);
    for (;;) {
      s = s.replace(/^\s+/, '');
      // A parameter is `name = value`; a bare token followed by anything else starts the next challenge.
      const m = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+)\s*=\s*/.exec(s);
      if (!m) break;
      s = s.slice(m[0].length);
      let value: string;
      if (s.startsWith('"')) {
        let i = 1;
        value = '';
        while (i < s.length && s[i] !== '"') {
          if (s[i] === '\\' && i + 1 < s.length) i++;
          value += s[i];
          i++;
        }
        s = s.slice(i + 1);
      } else {
        value = TOKEN.exec(s)?.[0] ?? '';
        s = s.slice(value.length);
      }
      challenge.params[m[1]!.toLowerCase()] = value;
      s = s.replace(/^\s*/, '');
      if (!s.startsWith(',')) break;
      s = s.slice(1);
    }
    skip();
  }
  return out;
}
