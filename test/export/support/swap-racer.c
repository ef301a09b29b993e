/*
 * A hostile process for test/export/export-dir-race.test.ts: while an export runs into TARGET,
 * it keeps exchanging the directories it can write in (TARGET itself, and with DEPTH 2 the
 * directories one level down) with a symlink to VICTIM, and back, with renameat2(2)
 * RENAME_EXCHANGE: the name is always there, a directory or the symlink, so a writer that
 * checks the name and then writes through it can be caught in between. It works relative to
 * its own descriptors and never follows a symlink itself. It prints "ready" once it loops,
 * and stops when STOP exists, every directory back at its name.
 *   swap-racer TARGET VICTIM DEPTH STOP
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif
#define LINK ".racer-link"

static int exchange(int dirfd, const char *a, const char *b) {
  return (int)syscall(SYS_renameat2, dirfd, a, dirfd, b, RENAME_EXCHANGE);
}

/* In directory dirfd: puts the symlink at each subdirectory's name and the directory back. */
static void swap_all(int dirfd, const char *victim, int depth) {
  int linked = 0;
  int listfd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY);
  if (listfd < 0) return;
  DIR *d = fdopendir(listfd);
  if (d == NULL) return;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    struct stat st;
    if (fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode)) continue;
    /* Made only once there is a directory: an empty target stays empty until the export starts. */
    if (!linked) linked = symlinkat(victim, dirfd, LINK) == 0;
    if (exchange(dirfd, e->d_name, LINK) == 0) exchange(dirfd, e->d_name, LINK);
    if (depth > 1) {
      int sub = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
      if (sub >= 0) {
        swap_all(sub, victim, depth - 1);
        close(sub);
      }
    }
  }
  closedir(d);
  if (linked) unlinkat(dirfd, LINK, 0);
}

int main(int argc, char **argv) {
  if (argc != 5) return 2;
  int target = open(argv[1], O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  if (target < 0) return perror(argv[1]), 1;
  int depth = atoi(argv[3]);
  printf("ready\n");
  fflush(stdout);
  while (access(argv[4], F_OK) != 0) swap_all(target, argv[2], depth);
  return 0;
}
