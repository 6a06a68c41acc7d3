/* serve.h - the `serve` command (server/serve.c). */
#ifndef TB_SERVER_SERVE_H
#define TB_SERVER_SERVE_H

#include <stddef.h>

struct tb_config;

/* Serves HTTPS until SIGTERM or SIGINT (SIGHUP reloads). 0 after a clean
 * stop; TB_ECONFIG with msg (settings, certificate, key); TB_ENET (cannot
 * listen); TB_EIO and others from the database, with msg. */
int tb_serve_cmd(const struct tb_config *cfg, char *msg, size_t msglen);

#endif
