/* backup.h - an online backup of the server's database, and the checks a
 * copy passes before it is kept or put back (server/restore.c).
 *
 * Called by server/backup_cli.c (`tienbo-server backup`) and
 * server/restore.c. A backup is written beside FILE under a temporary
 * name and renamed to FILE only once it passed its checks, so FILE is
 * either the previous file or a whole, checked copy, never half of one.
 */
#ifndef TB_SERVER_BACKUP_H
#define TB_SERVER_BACKUP_H

#include <stddef.h>
#include <stdint.h>

/* What a copy holds, counted in one read transaction. */
struct tb_backup_counts {
	int version;       /* PRAGMA user_version: the schema */
	int64_t events;    /* current revisions */
	int64_t revisions; /* event_history rows */
	int64_t schools;
	int64_t devices;   /* device tokens, revoked included */
};

struct tb_backup_result {
	struct tb_backup_counts c;
	uint64_t bytes;    /* size of FILE */
	uint64_t db_bytes; /* size of the database copy before gzip */
	long ms;           /* time taken */
	char where[300];   /* PostgreSQL: the database as it may be shown
			      (no password), else "" */
};

/* Copies the database at db (which must exist and be a tienbo-server
 * database of a schema this server knows) to the file to, while a server
 * may be serving it: one consistent snapshot (see backup.c), checked with
 * PRAGMA integrity_check and by its counts against the source's, gzip'd
 * when gzip is 1 (to must then end in ".gz"; without gzip it must not),
 * mode 0600, fsync'd, then renamed to to. 0 with *r filled; TB_EUSAGE
 * (the name), TB_ENOTFOUND (no db), TB_ECONFLICT (not a tienbo-server
 * database), TB_EIO, TB_EAGAIN (busy); msg says which, and to is left as
 * it was. */
int tb_backup_run(const char *db, const char *to, int gzip,
		  struct tb_backup_result *r, char *msg, size_t msglen);

/* The same when db is a PostgreSQL URL (server/backup_pg.c): pg_dump's
 * custom format of one snapshot, whose counts go in *r, checked with
 * pg_restore --list, mode 0600, renamed to `to` only when pg_dump exited
 * 0. TB_EUSAGE (--gzip: the format is compressed already), TB_ECONFIG
 * (pg_dump not installed), TB_ECONFLICT (not a tienbo-server database),
 * TB_EAGAIN (unreachable), TB_EIO; to is left as it was. */
int tb_backup_pg_run(const char *url, const char *to, int gzip,
		     struct tb_backup_result *r, char *msg, size_t msglen);
/* `restore` of a PostgreSQL database: pg_restore of the archive from
 * into url, which must have no tables (a new database), in one
 * transaction; then it must open as a tienbo-server database, its counts
 * into r->c and its name into r->where. TB_ENOTFOUND (no file), TB_EINVAL (not an archive),
 * TB_ECONFLICT (the database has tables: unchanged), TB_ECONFIG (no
 * pg_restore), TB_EAGAIN, TB_EIO (pg_restore failed: left without
 * tables). */
int tb_restore_pg_run(const char *url, const char *from,
		      struct tb_backup_result *r, char *msg, size_t msglen);

/* Checks the SQLite file at path (a copy this process made, opened read
 * and write): integrity_check says ok, user_version is 1..TB_DB_SCHEMA,
 * the tienbo-server tables are there; *c gets the counts. 0; TB_EINVAL
 * with msg naming path and what is wrong; TB_EIO, TB_EAGAIN. */
int tb_backup_verify(const char *path, struct tb_backup_counts *c,
		     char *msg, size_t msglen);

/* 1 if the file at path starts with the gzip magic, 0 if not, TB_EIO. */
int tb_backup_is_gzip(const char *path);
/* Writes the content of src (gunzipped when gunzip is 1) to the new file
 * dst (created 0600, must not exist) and fsyncs it. 0; TB_EINVAL (a
 * damaged or truncated gzip stream), TB_EIO; msg. dst is removed on
 * failure. */
int tb_backup_copy(const char *src, const char *dst, int gunzip,
		   char *msg, size_t msglen);
/* Removes the SQLite file path and the -journal, -wal, -shm SQLite may
 * have left beside it (a copy that failed its checks). */
void tb_backup_remove_copy(const char *path);
/* fsyncs the directory that holds path. 0 or TB_EIO. */
int tb_backup_sync_dir(const char *path);

#endif
