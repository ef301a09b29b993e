/** An image is malformed, fails verification, or lacks what was asked (a platform, a tag). Names the blob or file. */
export class ImageError extends Error {
  constructor(readonly where: string, reason: string, options?: { cause?: unknown }) {
    super(`${where}: ${reason}`, options);
    this.name = 'ImageError';
  }
}
