/*
 * conffile.c: the configuration files read into lines, and a line cut.
 *
 * A file is read whole and kept: the values the program stores point
 * into it, so nothing read here is ever freed.  Only the files' bytes are
 * judged here (size, NUL bytes, the shape of a line); whether a name is
 * an option and its value good is the option table's to say, so that the
 * file and the command line cannot drift apart.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conffile.h"

/* Whether c is a blank, inside a line. */
static int
blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

const char *
conffile_split(char *line, char **name, char **value)
{
	char	*p = line, *end;

	*name = *value = NULL;
	while (blank(*p))
		p++;
	*name = p;
	while ((*p >= 'a' && *p <= 'z') || (p > *name && ((*p >= '0' &&
	    *p <= '9') || *p == '-')))
		p++;
	if (p == *name || (*p != '\0' && !blank(*p)))
		return "not an option's name (the long name, without --)";
	if (*p == '\0')
		return NULL;
	*p++ = '\0';
	while (blank(*p))
		p++;
	if (*p == '\0')
		return NULL;
	*value = p;
	while (*p != '\0' && !blank(*p))
		p++;
	end = p;
	while (blank(*p))
		p++;
	if (*p != '\0')
		return "one value a line";
	*end = '\0';
	return NULL;
}

/* Add s to the list v of n strings; -1 if it cannot grow. */
static int
add(char ***v, size_t *n, char *s)
{
	char	**nv;

	if ((nv = realloc(*v, (*n + 1) * sizeof *nv)) == NULL)
		return -1;
	nv[(*n)++] = s;
	*v = nv;
	return 0;
}

/* Keep s for good, or free it: -1 then. */
static int
keep(struct conffile *cf, char *s)
{
	if (s != NULL && add(&cf->kept, &cf->nkept, s) == 0)
		return 0;
	free(s);
	return -1;
}

/* The whole of fd into a new string, or NULL with errno. */
static char *
slurp(int fd)
{
	struct stat	 sb;
	char		*buf;
	size_t		 got = 0;
	ssize_t		 r;

	if (fstat(fd, &sb) == -1)
		return NULL;
	if (!S_ISREG(sb.st_mode) && !S_ISCHR(sb.st_mode) &&
	    !S_ISFIFO(sb.st_mode)) {
		errno = S_ISDIR(sb.st_mode) ? EISDIR : EINVAL;
		return NULL;
	}
	if ((buf = malloc(CONFFILE_MAX + 1)) == NULL)
		return NULL;
	while (got <= CONFFILE_MAX &&
	    (r = read(fd, buf + got, CONFFILE_MAX + 1 - got)) != 0) {
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			free(buf);
			return NULL;
		}
		got += (size_t)r;
	}
	if (got > CONFFILE_MAX || memchr(buf, '\0', got) != NULL) {
		free(buf);
		errno = got > CONFFILE_MAX ? EFBIG : EINVAL;
		return NULL;
	}
	buf[got] = '\0';
	return buf;
}

/* Append the lines of text, from file, that are more than a comment. */
static int
lines(struct conffile *cf, const char *file, char *text)
{
	struct conffile_line	*nl;
	char			*p, *next, *c;
	unsigned		 no = 0;

	for (p = text; p != NULL; p = next) {
		no++;
		if ((next = strchr(p, '\n')) != NULL)
			*next++ = '\0';
		for (c = p; *c != '\0'; c++)
			if (*c == '#' && (c == p || blank(c[-1]))) {
				*c = '\0';
				break;
			}
		for (c = p; blank(*c); c++)
			continue;
		if (*c == '\0')
			continue;
		if ((nl = realloc(cf->line, (cf->n + 1) * sizeof *nl)) ==
		    NULL)
			return -1;
		cf->line = nl;
		nl[cf->n].file = file;
		nl[cf->n].no = no;
		nl[cf->n++].text = p;
	}
	return 0;
}

/* Read one file; ENOENT is no error unless must. */
static int
one(struct conffile *cf, const char *path, int must)
{
	char	*name, *text;
	int	 fd, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return errno == ENOENT && !must ? 0 : -1;
	text = slurp(fd);
	saved = errno;
	close(fd);
	errno = saved;
	if (keep(cf, text) == -1 || keep(cf, name = strdup(path)) == -1 ||
	    add(&cf->file, &cf->nfile, name) == -1)
		return -1;
	return lines(cf, name, text);
}

/* A drop-in's name: NAME.conf, not hidden. */
static int
dropin(const struct dirent *d)
{
	size_t	 n = strlen(d->d_name);

	return d->d_name[0] != '.' && n > 5 &&
	    strcmp(d->d_name + n - 5, ".conf") == 0;
}

int
conffile_read(struct conffile *cf, const char *path, int must,
    const char **bad)
{
	struct dirent	**names;
	struct stat	  sb;
	const char	 *slash = strrchr(path, '/');
	char		 *dir, *file;
	int		  i, n, rc = 0;

	*bad = path;
	if (one(cf, path, must) == -1)
		return -1;
	n = slash == NULL ? 0 : (int)(slash - path + 1);
	if (asprintf(&dir, "%.*s%s", n, path, CONFFILE_DIR) == -1 ||
	    keep(cf, dir) == -1)
		return -1;
	*bad = dir;
	if ((n = scandir(dir, &names, dropin, alphasort)) == -1)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
	for (i = 0; i < n; i++) {
		if (rc == 0 && (asprintf(&file, "%s/%s", dir,
		    names[i]->d_name) == -1 || keep(cf, file) == -1))
			rc = -1;
		else if (rc == 0) {
			*bad = file;
			if (stat(file, &sb) == 0 && S_ISREG(sb.st_mode))
				rc = one(cf, file, 1);
		}
		free(names[i]);
	}
	free(names);
	return rc;
}
