/* reqlog.c - the client and the token of a request's log line (see
 * reqlog.h). The school is looked up by the token's stored prefix
 * (TB_TOKEN_PREFIX_LEN characters, indexed), so a refused request costs
 * one indexed read; a revoked token still names its school.
 */
#include "common/err.h"
#include "server/reqlog.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "server/resp.h"
#include "server/sql.h"
#include "server/token.h"

#define LOG_PREFIX 8 /* token characters shown in the log */

void tb_reqlog_peer(struct MHD_Connection *c, char *buf, size_t len)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	snprintf(buf, len, "?");
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
			  buf, (socklen_t)len);
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6,
			  &((const struct sockaddr_in6 *)sa)->sin6_addr, buf,
			  (socklen_t)len);
}

/* The school of the device token with this prefix into school (64),
 * "admin" for an admin token, "?" for none. */
static void school_of(struct tb_sql *db, const char *token, char *school)
{
	struct tb_stmt *st = NULL;

	snprintf(school, 64, "school=?");
	if (!db || strlen(token) < TB_TOKEN_PREFIX_LEN)
		return;
	if (tb_sql_prepare(db, "SELECT 'school=' || school FROM devices "
			       "WHERE token_prefix = ?1 UNION ALL SELECT "
			       "'admin' FROM admin_tokens WHERE token_prefix "
			       "= ?1 LIMIT 1", 0, &st) == TB_OK &&
	    tb_sql_bind_text(st, 1, token, TB_TOKEN_PREFIX_LEN) == TB_OK &&
	    tb_sql_step(st) == TB_SQL_ROW)
		snprintf(school, 64, "%s", tb_sql_column_text(st, 0));
	tb_sql_finalize(st);
}

void tb_reqlog_who(struct MHD_Connection *c, struct tb_sql *db, char *buf,
		   size_t len)
{
	char tok[128], school[64], shown[LOG_PREFIX * 4 + 1];
	const char *t = tb_resp_bearer(c, tok, sizeof(tok));
	size_t i, n = 0;

	if (!t || !t[0]) {
		snprintf(buf, len, " no token");
		return;
	}
	/* the first characters, escaped: a hostile token is not a log line */
	for (i = 0; i < LOG_PREFIX && t[i]; i++) {
		unsigned char ch = (unsigned char)t[i];

		if (ch > ' ' && ch < 127 && ch != '"' && ch != '\\')
			shown[n++] = (char)ch;
		else
			n += (size_t)snprintf(shown + n, sizeof(shown) - n,
					      "\\x%02x", ch);
	}
	shown[n] = '\0';
	school_of(db, t, school);
	snprintf(buf, len, " token=%s %s", shown, school);
	memset(tok, 0, sizeof(tok));
}
