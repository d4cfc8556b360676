/*
 * conf.h - the configuration, read from targetcli's saveconfig.json shape.
 *
 * conf_load() parses and validates a whole file into a struct conf that no
 * one else owns; nothing running is touched.  The caller then builds the
 * runtime (LUN registry, targets) from it and frees the old one.  Errors
 * come back as one message "file: json.path: reason".  Unknown keys are
 * warned about and ignored.
 *
 * conf_default() builds the embedded default (target
 * iqn.2026-11.org.tpcd:default on 127.0.0.1:3260, LUN 0 and 1 on sparse
 * 1 GiB files in the state directory, open to any initiator).
 */
#ifndef TPCD_CONF_H
#define TPCD_CONF_H

#include <stdbool.h>
#include <stdint.h>

#define CONF_NAME_MAX	224	/* iSCSI names are at most 223 bytes */
#define CONF_SECRET_MAX	256

struct conf_storage {
	char		*plugin;	/* "fileio", "block", "nvme", "user",
					   "mem" */
	char		*name;
	char		*dev;		/* path (fileio/block/nvme); NULL for
					   mem */
	char		*wwn;		/* unit serial / NAA seed */
	uint64_t	 size;		/* bytes; 0 = from file/device */
	uint32_t	 block_size;	/* 512 or 4096; block/nvme: 0 = the
					   device's */
	bool		 write_back;
	bool		 thin;		/* provisioning: thin by default */
	bool		 read_only;
	char		*config;	/* "user" plugin config string */
};

struct conf_lun {
	uint32_t	 index;
	char		*storage;	/* storage object name */
	char		*alias;
};

struct conf_mapped_lun {
	uint32_t	 index;		/* LUN the initiator sees */
	uint32_t	 tpg_lun;	/* index into the TPG's luns */
	bool		 write_protect;
};

struct conf_chap {
	char		*userid;
	char		*password;
	char		*mutual_userid;
	char		*mutual_password;
};

struct conf_acl {
	char		*node_wwn;	/* initiator IQN */
	struct conf_mapped_lun *mapped_luns;
	unsigned int	 n_mapped_luns;
	struct conf_chap chap;
};

struct conf_portal {
	char		*ip;		/* "127.0.0.1", "::1", "0.0.0.0", "::" */
	uint16_t	 port;
};

/* The iSCSI session parameters a TPG may set (targetcli "parameters").
 * Values are kept as text and checked by the negotiation code. */
struct conf_param {
	char		*key;
	char		*value;
};

/* Who may use a ROD token (ODX) in a WRITE USING TOKEN arriving through
 * a TPG (docs/odx.md "Scope"): TPG attribute tpcd_token_scope. */
enum conf_token_scope {
	CONF_TOKEN_SCOPE_NEXUS,		/* "nexus" (default): the using I_T
					   nexus must map the source LU */
	CONF_TOKEN_SCOPE_TARGET,	/* "target": any nexus of the
					   issuing target */
};

struct conf_tpg {
	uint16_t	 tag;
	bool		 enable;
	struct conf_portal *portals;
	unsigned int	 n_portals;
	struct conf_lun	*luns;
	unsigned int	 n_luns;
	struct conf_acl	*acls;
	unsigned int	 n_acls;
	bool		 authentication;	/* require CHAP */
	bool		 generate_node_acls;	/* demo mode: any initiator */
	bool		 demo_mode_write_protect;
	struct conf_chap chap;			/* TPG-wide (demo mode) */
	struct conf_param *params;
	unsigned int	 n_params;
	enum conf_token_scope token_scope;	/* tpcd extension */
};

struct conf_target {
	char		*wwn;		/* target IQN */
	char		*fabric;	/* "iscsi" */
	struct conf_tpg	*tpgs;
	unsigned int	 n_tpgs;
};

/* The TCMU front end (handlers/tcmu): top-level "tpcd": {"tcmu": ...}. */
enum conf_tcmu {
	CONF_TCMU_AUTO,		/* default: when target_core_user is there */
	CONF_TCMU_ON,		/* required: failing to start is an error */
	CONF_TCMU_OFF,
};

struct conf {
	char		*path;		/* NULL for the embedded default */
	char		*state_dir;
	struct conf_storage *storage;
	unsigned int	 n_storage;
	struct conf_target *targets;
	unsigned int	 n_targets;
	/* tpcd extension: top-level "tpcd" object; 0 = built-in default. */
	unsigned int	 loops;
	unsigned int	 nop_interval_s;
	unsigned int	 nop_timeout_s;
	unsigned int	 login_timeout_s;
	enum conf_tcmu	 tcmu;
	unsigned int	 copy_results_hold_s;	/* copy results kept (s) */
	unsigned int	 n_warnings;	/* warnings logged while parsing */
};

/* Parse and validate.  On error returns NULL and a malloc'd message. */
struct conf *conf_load(const char *path, char **errmsg);
/* Same from a string (tests, fuzzing); name is used in messages. */
struct conf *conf_parse(const char *json, const char *name, char **errmsg);
/* The embedded default with files under state_dir (created if missing). */
struct conf *conf_default(const char *state_dir, char **errmsg);
void	conf_free(struct conf *);

const struct conf_storage *conf_storage_find(const struct conf *,
	    const char *name);

#endif
