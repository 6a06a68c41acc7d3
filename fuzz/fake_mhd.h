/* fake_mhd.h - a stand-in for the part of libmicrohttpd's API that the
 * server's request handlers use (looking up request headers, creating,
 * decorating and queuing a response), so fuzz_upload can drive
 * server/upload.c in-process without sockets or TLS.
 *
 * fake_mhd.c defines MHD_lookup_connection_value, MHD_queue_response,
 * MHD_create_response_from_buffer_with_free_callback,
 * MHD_add_response_header and MHD_destroy_response; definitions in the
 * executable take precedence over libmicrohttpd.so's, which fuzz_upload
 * never calls into. struct MHD_Connection (opaque in microhttpd.h) is
 * defined here: the request's headers in, the queued response out.
 */
#ifndef TB_FUZZ_FAKE_MHD_H
#define TB_FUZZ_FAKE_MHD_H

#include <stddef.h>

#define FAKE_MHD_MAX_HEADERS 8

struct MHD_Connection {
	/* the request */
	size_t nheaders;
	struct {
		const char *name, *value; /* borrowed */
	} headers[FAKE_MHD_MAX_HEADERS];
	/* the response, once queued */
	int queued;           /* how many times MHD_queue_response was called */
	unsigned status;
	char *body;           /* malloc'd copy, NUL-terminated */
	size_t body_len;
	int retry_after;      /* the response had a Retry-After header */
	int www_authenticate; /* ... a WWW-Authenticate header */
};

/* Empties c (frees a queued body). */
void fake_mhd_reset(struct MHD_Connection *c);
/* Adds a request header (both borrowed; ignored past the maximum). */
void fake_mhd_header(struct MHD_Connection *c, const char *name,
		     const char *value);

#endif
