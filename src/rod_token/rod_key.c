/*
 * rod_key.c - the HMAC-SHA256 key that signs ROD tokens.
 *
 * One 32-byte key at a time, read from STATE_DIR/rod.key or created there
 * on first start: random bytes written to rod.key.tmp.<pid> (O_EXCL,
 * mode 0600), fsync'd, then link()ed to rod.key so two daemons starting
 * together agree on one key (the loser reads the winner's), and the
 * directory fsync'd.  Rotation writes the new key the same way but
 * rename()s it over the old one.  Without a state directory the key is
 * made fresh in memory at each start (also, with a warning, when the
 * first token is signed before rod_key_init() ran).
 *
 * The key id is the first 4 bytes of SHA-256(key).  Retired key ids (a
 * few, this process only) let rod_token_verify() tell a token signed
 * with a rotated-out key (TOKEN REVOKED) from a forged one (TOKEN
 * CORRUPT); the retired key bytes themselves are wiped.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "log.h"
#include "rod_token/rod_int.h"
#include "rod_token/rod_token.h"
#include "util.h"

#define ROD_KEY_RETIRED_MAX	8

static struct {
	pthread_mutex_t	 lock;
	bool		 have;
	bool		 tried;		/* rod_key_init() ran (or lazy key) */
	uint8_t		 key[ROD_KEY_LEN];
	uint32_t	 id;
	uint32_t	 retired[ROD_KEY_RETIRED_MAX];
	unsigned int	 n_retired;	/* total ever; ring of the last 8 */
	char		 dir[PATH_MAX];	/* "" without a state dir */
} rod_key = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
};

static uint32_t
rod_key_compute_id(const uint8_t *key)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (!EVP_Digest(key, ROD_KEY_LEN, md, &len, EVP_sha256(), NULL) ||
	    len < 4)
		return 0;
	return get_be32(md);
}

static int
rod_key_random(uint8_t *key)
{
	if (RAND_bytes(key, ROD_KEY_LEN) != 1)
		return -EIO;
	return 0;
}

static int
rod_key_path(char *buf, size_t len, const char *dir, const char *suffix)
{
	int n;

	n = snprintf(buf, len, "%s/%s%s", dir, ROD_KEY_FILE, suffix);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return 0;
}

static int
rod_key_fsync_dir(const char *dir)
{
	int fd, rc = 0;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) != 0)
		rc = -errno;
	close(fd);
	return rc;
}

static int
rod_key_read(const char *path, uint8_t *key)
{
	struct stat st;
	ssize_t n;
	size_t off = 0;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0) {
		rc = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size != ROD_KEY_LEN) {
		log_err("rod: %s: not a %d-byte key file", path, ROD_KEY_LEN);
		rc = -EINVAL;
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		log_warn("rod: %s: mode %03o, setting 0600", path,
		    (unsigned int)(st.st_mode & 0777));
		if (fchmod(fd, 0600) != 0)
			log_warn("rod: %s: chmod: %s", path, strerror(errno));
	}
	while (off < ROD_KEY_LEN) {
		n = read(fd, key + off, ROD_KEY_LEN - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			goto out;
		}
		off += (size_t)n;
	}
out:
	close(fd);
	return rc;
}

/* Write key to a fresh temp file; 0 with its name in tmp, or -errno. */
static int
rod_key_write_tmp(const char *dir, const uint8_t *key, char *tmp,
    size_t tmplen)
{
	char suffix[32];
	size_t off = 0;
	ssize_t n;
	int fd, rc;

	snprintf(suffix, sizeof(suffix), ".tmp.%ld", (long)getpid());
	rc = rod_key_path(tmp, tmplen, dir, suffix);
	if (rc != 0)
		return rc;
	for (int tries = 0; ; tries++) {
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST || tries > 0)
			break;
		unlink(tmp);		/* left by a crashed run */
	}
	if (fd < 0)
		return -errno;
	while (off < ROD_KEY_LEN) {
		n = write(fd, key + off, ROD_KEY_LEN - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			goto fail;
		}
		off += (size_t)n;
	}
	if (fsync(fd) != 0) {
		rc = -errno;
		goto fail;
	}
	if (close(fd) != 0) {
		fd = -1;
		rc = -errno;
		goto fail;
	}
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return rc;
}

/* Load dir/rod.key, or create it if absent. */
static int
rod_key_load_or_create(const char *dir, uint8_t *key)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	int rc;

	rc = rod_key_path(path, sizeof(path), dir, "");
	if (rc != 0)
		return rc;
	rc = rod_key_read(path, key);
	if (rc != -ENOENT)
		return rc;
	rc = rod_key_random(key);
	if (rc != 0)
		return rc;
	rc = rod_key_write_tmp(dir, key, tmp, sizeof(tmp));
	if (rc != 0)
		return rc;
	/* link() never replaces: if another process won, use its key */
	if (link(tmp, path) != 0) {
		rc = -errno;
		unlink(tmp);
		if (rc == -EEXIST)
			return rod_key_read(path, key);
		return rc;
	}
	unlink(tmp);
	rc = rod_key_fsync_dir(dir);
	if (rc == 0)
		log_info("rod: created a new token key in %s", path);
	return rc;
}

static void
rod_key_install(const uint8_t *key)
{
	memcpy(rod_key.key, key, ROD_KEY_LEN);
	rod_key.id = rod_key_compute_id(key);
	rod_key.have = true;
}

int
rod_key_init(const char *state_dir)
{
	uint8_t key[ROD_KEY_LEN];
	int rc;

	if (state_dir != NULL && state_dir[0] != '\0') {
		if (strlen(state_dir) >= sizeof(rod_key.dir))
			return -ENAMETOOLONG;
		rc = rod_key_load_or_create(state_dir, key);
	} else {
		rc = rod_key_random(key);
	}
	if (rc != 0) {
		OPENSSL_cleanse(key, sizeof(key));
		pthread_mutex_lock(&rod_key.lock);
		rod_key.tried = true;
		pthread_mutex_unlock(&rod_key.lock);
		log_err("rod: token key: %s", strerror(-rc));
		return rc;
	}
	pthread_mutex_lock(&rod_key.lock);
	rod_key_install(key);
	rod_key.tried = true;
	strlcpy_t(rod_key.dir, state_dir != NULL ? state_dir : "",
	    sizeof(rod_key.dir));
	pthread_mutex_unlock(&rod_key.lock);
	OPENSSL_cleanse(key, sizeof(key));
	return 0;
}

int
rod_key_rotate(void)
{
	char dir[PATH_MAX], tmp[PATH_MAX], path[PATH_MAX];
	uint8_t key[ROD_KEY_LEN];
	uint32_t old;
	int rc;

	pthread_mutex_lock(&rod_key.lock);
	strlcpy_t(dir, rod_key.dir, sizeof(dir));
	pthread_mutex_unlock(&rod_key.lock);

	rc = rod_key_random(key);
	if (rc == 0 && dir[0] != '\0') {
		rc = rod_key_write_tmp(dir, key, tmp, sizeof(tmp));
		if (rc == 0)
			rc = rod_key_path(path, sizeof(path), dir, "");
		if (rc == 0 && rename(tmp, path) != 0) {
			rc = -errno;
			unlink(tmp);
		}
		if (rc == 0)
			rc = rod_key_fsync_dir(dir);
	}
	if (rc != 0) {
		OPENSSL_cleanse(key, sizeof(key));
		log_err("rod: key rotation failed: %s", strerror(-rc));
		return rc;
	}

	pthread_mutex_lock(&rod_key.lock);
	old = rod_key.id;
	if (rod_key.have) {
		rod_key.retired[rod_key.n_retired % ROD_KEY_RETIRED_MAX] = old;
		rod_key.n_retired++;
	}
	rod_key_install(key);
	pthread_mutex_unlock(&rod_key.lock);
	OPENSSL_cleanse(key, sizeof(key));

	rod_registry_revoke_all();
	log_info("rod: token key rotated (key id %08x retired, now %08x)",
	    old, rod_key_id());
	return 0;
}

uint32_t
rod_key_id(void)
{
	uint32_t id;

	pthread_mutex_lock(&rod_key.lock);
	id = rod_key.id;
	pthread_mutex_unlock(&rod_key.lock);
	return id;
}

static bool
rod_key_hmac_locked(const uint8_t *data, size_t len, uint8_t *mac)
{
	unsigned int mlen = 0;

	if (!rod_key.have)
		return false;
	return HMAC(EVP_sha256(), rod_key.key, ROD_KEY_LEN, data, len, mac,
	    &mlen) != NULL && mlen == ROD_MAC_LEN;
}

bool
rod_key_mac(const uint8_t *data, size_t len, uint8_t *mac)
{
	bool ok;

	pthread_mutex_lock(&rod_key.lock);
	ok = rod_key_hmac_locked(data, len, mac);
	pthread_mutex_unlock(&rod_key.lock);
	return ok;
}

int
rod_key_sign(const uint8_t *data, size_t len, uint32_t *key_id,
    uint8_t *mac)
{
	uint8_t key[ROD_KEY_LEN];
	bool ok;

	pthread_mutex_lock(&rod_key.lock);
	if (!rod_key.tried) {
		/* rod_key_init() never ran (a tool or a test): a memory key,
		 * as without a state directory */
		rod_key.tried = true;
		if (rod_key_random(key) == 0) {
			rod_key_install(key);
			log_warn("rod: no token key configured, using a "
			    "temporary one");
		}
		OPENSSL_cleanse(key, sizeof(key));
	}
	ok = rod_key_hmac_locked(data, len, mac);
	*key_id = rod_key.id;
	pthread_mutex_unlock(&rod_key.lock);
	return ok ? 0 : -EIO;
}

static bool
rod_key_is_retired_locked(uint32_t key_id)
{
	unsigned int n = rod_key.n_retired < ROD_KEY_RETIRED_MAX ?
	    rod_key.n_retired : ROD_KEY_RETIRED_MAX;

	for (unsigned int i = 0; i < n; i++)
		if (rod_key.retired[i] == key_id)
			return true;
	return false;
}

int
rod_key_verify(const uint8_t *data, size_t len, uint32_t key_id,
    const uint8_t *mac)
{
	uint8_t want[ROD_MAC_LEN];
	int rc;

	pthread_mutex_lock(&rod_key.lock);
	if (!rod_key.have || key_id != rod_key.id)
		rc = rod_key_is_retired_locked(key_id) ? -ESTALE : -EBADMSG;
	else if (!rod_key_hmac_locked(data, len, want))
		rc = -EBADMSG;
	else
		rc = CRYPTO_memcmp(want, mac, ROD_MAC_LEN) == 0 ? 0 : -EBADMSG;
	pthread_mutex_unlock(&rod_key.lock);
	OPENSSL_cleanse(want, sizeof(want));
	return rc;
}

int
rod_key_state(uint32_t key_id)
{
	int st;

	pthread_mutex_lock(&rod_key.lock);
	if (rod_key.have && key_id == rod_key.id)
		st = 1;
	else
		st = rod_key_is_retired_locked(key_id) ? 0 : -1;
	pthread_mutex_unlock(&rod_key.lock);
	return st;
}

void
rod_key_fini(void)
{
	pthread_mutex_lock(&rod_key.lock);
	OPENSSL_cleanse(rod_key.key, sizeof(rod_key.key));
	rod_key.have = false;
	rod_key.id = 0;
	rod_key.n_retired = 0;
	rod_key.dir[0] = '\0';
	pthread_mutex_unlock(&rod_key.lock);
}
