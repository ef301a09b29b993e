/*
 * A hostile process for test/export/export-dir-race.test.ts: while an export runs into TARGET
 * (a directory it may write), it keeps listing TARGET and exchanging every name that looks
 * like a temporary of layerfs (".layerfs-tmp." and anything after) with a file of its own,
 * with renameat2(2) RENAME_EXCHANGE, so a writer that renames or links its temporary into
 * place afterwards publishes this file instead. It prints "ready" once it loops, and stops
 * when STOP exists, removing its own file.
 *   temp-racer TARGET STOP
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif
#define MINE ".racer-file"
#define PREFIX ".layerfs-tmp."

int main(int argc, char **argv) {
  if (argc != 3) return 2;
  int target = open(argv[1], O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  if (target < 0) return perror(argv[1]), 1;
  printf("ready\n");
  fflush(stdout);
  while (access(argv[2], F_OK) != 0) {
    int listfd = openat(target, ".", O_RDONLY | O_DIRECTORY);
    if (listfd < 0) continue;
    DIR *d = fdopendir(listfd);
    if (d == NULL) continue;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      if (strncmp(e->d_name, PREFIX, strlen(PREFIX)) != 0) continue;
      /* A new file each time: what an exchange brought to MINE is the writer's, never written. */
      unlinkat(target, MINE, 0);
      int fd = openat(target, MINE, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0644);
      if (fd >= 0) {
        if (write(fd, "attacker\n", 9) != 9) return 1;
        close(fd);
      }
      syscall(SYS_renameat2, target, e->d_name, target, MINE, RENAME_EXCHANGE);
    }
    closedir(d);
  }
  unlinkat(target, MINE, 0);
  return 0;
}
