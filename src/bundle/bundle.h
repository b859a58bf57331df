/*
 * bundle — zip archives that carry a folder of configuration files (a source
 * cluster's CA: `my_source_ca/cacert.pem`) into a node's config folder.
 *
 * A bundle holds exactly one top-level folder; installing it recreates that
 * folder (merging into it if it exists) under the config folder:
 * `my_source_ca.zip` → `config/my_source_ca/cacert.pem`.
 *
 * Installing treats the archive as hostile. Everything is validated before
 * anything is written: entry names (no absolute paths, no `..`/`.`/empty
 * components, no backslashes, no control characters, no drive letters, one
 * top-level folder that is not hidden), entry types from the Unix mode in the
 * external attributes (only regular files and folders: no symlinks, devices,
 * FIFOs or sockets), duplicates (also a file clashing with a folder),
 * encryption and compression methods (stored and deflate only), the entry
 * count, the declared total size and the overall compression ratio, and the
 * destination (nothing on the way may be a symlink or of the wrong type).
 * Then the files are extracted into a temporary folder inside the config
 * folder, counting the actual bytes against each declared size and the total
 * limit (lying headers and zip bombs stop there, leaving nothing), and finally
 * renamed into place: a new top folder in one rename, an existing one file by
 * file (each replacement atomic). Files get mode 0644 and folders 0755
 * whatever the archive says; symlinks already in the config folder are never
 * followed (every path is walked with openat and O_NOFOLLOW).
 *
 * Errors: 0 on success, -1 with a one-line message in *err (heap; caller
 * frees) naming the archive, the entry and the rule broken.
 *
 * Depends on: core, libzip. Not thread-safe against concurrent installs into
 * the same config folder.
 */
#ifndef FERRY_BUNDLE_H
#define FERRY_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#define BUNDLE_MAX_ENTRIES 1000                      /* files and folders */
#define BUNDLE_MAX_TOTAL_BYTES (100ULL * 1024 * 1024) /* uncompressed, all files together */
#define BUNDLE_MAX_RATIO 100                         /* total uncompressed / total compressed ... */
#define BUNDLE_RATIO_FLOOR (1024ULL * 1024)          /* ... checked once the total passes 1 MiB */
#define BUNDLE_MAX_NAME 1024                         /* bytes in an entry name */

/* Limits; a zero member means the default above. */
typedef struct bundle_limits {
    uint64_t max_entries;
    uint64_t max_total_bytes;
    uint64_t max_ratio;
    uint64_t ratio_floor;
} bundle_limits;

/*
 * Zips folder (regular files and subfolders only; anything else is an error)
 * into zip_path, entries named "<basename of folder>/...". zip_path NULL:
 * "<basename>.zip" in the current folder. The result obeys the default
 * limits (so it installs). An existing zip_path is replaced atomically.
 */
int bundle_create(const char *folder, const char *zip_path, char **err);

/* The default output name for bundle_create (heap): "<basename>.zip". */
char *bundle_default_name(const char *folder, char **err);

/* Validates and installs one bundle into config_dir (which must exist). */
int bundle_install(const char *zip_path, const char *config_dir, char **err);
/* As bundle_install with explicit limits (NULL: the defaults). */
int bundle_install_limits(const char *zip_path, const char *config_dir,
                          const bundle_limits *limits, char **err);

/*
 * What the node runs at start: installs every regular `*.zip` file in
 * <config_dir>/bundles/, in name order, stopping at the first that fails
 * (each install is all-or-nothing). A missing bundles folder is not an
 * error. Returns the number installed, or -1 with *err set.
 */
int bundle_install_all(const char *config_dir, char **err);

#endif
