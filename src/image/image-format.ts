/** The formats an image's files are read as: an OCI layout directory, a tar of one, a `docker save` archive. */
export const IMAGE_FORMATS = ['oci-layout', 'oci-archive', 'docker-archive'] as const;
export type ImageFormat = (typeof IMAGE_FORMATS)[number];

/** A format in words, for messages. */
export const FORMAT_NAMES: Record<ImageFormat, string> = { 'oci-layout': 'an OCI image layout', 'oci-archive': 'an OCI archive', 'docker-archive': 'a docker save archive' };
