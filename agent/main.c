/* main.c - the tienbo-agent binary: everything happens in tb_cli_main
 * (agent/cli.c), so tests can link the commands as a library. */
#include "agent/cli.h"

int main(int argc, char **argv)
{
	return tb_cli_main(argc, argv);
}
