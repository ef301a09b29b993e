#!/usr/bin/env node
// Copies an OCI layout's tagged image into a content store with the built library (dist/), as
// a pull would leave it: every blob ingested (verified while written), the manifest tagged.
// `node bench/support/store-layout.mjs LAYOUT STORE [REF]` (REF defaults to latest).
import { createReadStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openContentStore } from '../../dist/index.js';

const [layout, dir, ref = 'latest'] = process.argv.slice(2);
const store = await openContentStore(dir);
const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'));
const desc = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === ref) ?? index.manifests[0];
const blob = (d) => join(layout, 'blobs', ...d.digest.split(':'));
const manifest = JSON.parse(readFileSync(blob(desc), 'utf8'));
for (const d of [manifest.config, ...manifest.layers, desc]) await store.ingest({ digest: d.digest, size: d.size }, createReadStream(blob(d)));
await store.tag(ref, { mediaType: desc.mediaType, digest: desc.digest, size: desc.size });
