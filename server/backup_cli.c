/* backup_cli.c - `tienbo-server backup` and `restore` (see backup_cli.h):
 * options in, a few lines for the office out.
 */
#include "server/backup_cli.h"

#include <stdio.h>
#include <stdlib.h>

#include "common/buf.h"
#include "common/err.h"
#include "server/backup.h"
#include "server/restore.h"
#include "server/sql.h"
#include "server/tokjournal.h"

const struct tb_opt tb_backup_cli_opts[2] = {
	{ "to", 0, "FILE", "write the copy to FILE (replaced only once the "
			   "new copy is whole and checked)" },
	{ "gzip", 1, "", "gzip the copy (FILE must end in .gz)" },
};
const struct tb_opt tb_restore_cli_opts[2] = {
	{ "from", 0, "FILE", "the backup (made by backup, gzip'd or not)" },
	{ "force", 1, "", "replace a sound database too (it is kept as "
			  "DB.before-restore-TIME)" },
};

int tb_backup_cli_backup(const struct tb_config *cfg, char *msg,
			 size_t msglen)
{
	const char *db = tb_settings_get(cfg, "db");
	const char *to = tb_settings_get(cfg, "to");
	int gzip = tb_settings_get(cfg, "gzip") != NULL;
	struct tb_backup_result r;
	char a[32], b[32];
	int rc;

	if (!to) {
		snprintf(msg, msglen, "backup needs --to FILE (with --gzip, "
			 "FILE.gz)");
		return TB_EUSAGE;
	}
	rc = tb_sql_is_url(db) ? tb_backup_pg_run(db, to, gzip, &r, msg, msglen)
			       : tb_backup_run(db, to, gzip, &r, msg, msglen);
	if (rc < 0)
		return rc;
	printf("backed up %s to %s: %lld events (%lld revisions), %lld "
	       "schools, %lld device tokens, schema %d\n",
	       r.where[0] ? r.where : db, to,
	       (long long)r.c.events, (long long)r.c.revisions,
	       (long long)r.c.schools, (long long)r.c.devices, r.c.version);
	if (tb_sql_is_url(db)) {
		printf("%s, pg_dump custom format of that snapshot, pg_restore "
		       "--list ok, in %.1f s\n", tb_size_text(r.bytes, a,
							       sizeof(a)),
		       (double)r.ms / 1000.0);
		return fflush(stdout) == 0 ? TB_OK : TB_EIO;
	}
	printf("%s%s%s%s, integrity_check ok, in %.1f s\n",
	       tb_size_text(r.bytes, a, sizeof(a)), gzip ? " (gzip of " : "",
	       gzip ? tb_size_text(r.db_bytes, b, sizeof(b)) : "",
	       gzip ? ")" : "", (double)r.ms / 1000.0);
	return fflush(stdout) == 0 ? TB_OK : TB_EIO;
}

/* PostgreSQL: into an empty database only (server/backup_pg.c). */
static int restore_pg(const char *db, const char *from, char *msg,
		      size_t msglen)
{
	struct tb_backup_result r;
	int rc = tb_restore_pg_run(db, from, &r, msg, msglen);

	if (rc < 0)
		return rc;
	printf("restored %s from %s: %lld events (%lld revisions), %lld "
	       "schools, %lld device tokens, schema %d\n", r.where, from,
	       (long long)r.c.events, (long long)r.c.revisions,
	       (long long)r.c.schools, (long long)r.c.devices, r.c.version);
	printf("no token journal on PostgreSQL: tokens revoked after this "
	       "dump work again; revoke them again (tienbo-server devices "
	       "lists the tokens)\n");
	printf("point the servers' db setting at this database and start "
	       "them: each agent resends what the server lost, from the "
	       "server's cursor, on its next sync\n");
	return fflush(stdout) == 0 ? TB_OK : TB_EIO;
}

int tb_backup_cli_restore(const struct tb_config *cfg, char *msg,
			  size_t msglen)
{
	const char *db = tb_settings_get(cfg, "db");
	const char *from = tb_settings_get(cfg, "from");
	static struct tb_restore_result r;
	char journal[4096], *later = NULL;
	size_t later_len = 0;
	FILE *mem;
	int rc;

	if (!from) {
		snprintf(msg, msglen, "restore needs --from FILE");
		return TB_EUSAGE;
	}
	if (tb_sql_is_url(db))
		return restore_pg(db, from, msg, msglen);
	/* the tokens to enroll again, printed after the summary */
	mem = open_memstream(&later, &later_len);
	if (!mem)
		return TB_ENOMEM;
	rc = tb_restore_run(db, from, tb_settings_get(cfg, "force") != NULL,
			    mem, &r, msg, msglen);
	if (fclose(mem) != 0 && rc == TB_OK)
		rc = TB_ENOMEM;
	if (rc < 0) {
		free(later);
		return rc;
	}
	tb_tokjournal_path(db, journal, sizeof(journal));
	printf("restored %s from %s: %lld events (%lld revisions), %lld "
	       "schools, %lld device tokens, schema %d\n", db, from,
	       (long long)r.c.events, (long long)r.c.revisions,
	       (long long)r.c.schools, (long long)r.c.devices, r.c.version);
	if (r.kept[0])
		printf("the database it replaced is kept as %s\n", r.kept);
	if (!r.j.present)
		printf("no token journal %s: tokens revoked after this backup "
		       "work again; revoke them again (tienbo-server devices "
		       "lists the tokens)\n", journal);
	else
		printf("token journal %s: %lld token%s revoked after this "
		       "backup revoked again, %lld enrolled after it%s\n",
		       journal, (long long)r.j.revoked,
		       r.j.revoked == 1 ? "" : "s", (long long)r.j.missing,
		       r.j.missing ? ":" : "");
	fputs(later ? later : "", stdout);
	free(later);
	printf("start the server: each agent resends what the server lost, "
	       "from the server's cursor, on its next sync\n");
	return fflush(stdout) == 0 ? TB_OK : TB_EIO;
}
