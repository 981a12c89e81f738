/* xlu-parse: reads an xl domain configuration with Xen's own parser (libxlutil) and prints
 * every setting as JSON, so the tests check what xl would read, not what we meant to write.
 *
 *   xlu-parse FILE        -> {"settings": {KEY: {...}}, "disks": [...], "vifs": [...]} on stdout, exit 0
 *                            parse failure: libxlutil's message on stderr, exit 2
 *
 * libxlutil has no call to enumerate settings, so the keys are the `NAME =` heads of the file's
 * lines; each is then read back through xlu_cfg_get_list / xlu_cfg_get_string / xlu_cfg_get_long.
 * Disk specs go through xlu_disk_parse (the parser xl uses). libxlutil has no vif parser (xl
 * parses vifs in its own parse_nic_config), so vifs are split with xl's rules: comma-separated
 * KEY=VALUE, with the MAC read the way xl reads it (six hex bytes separated by ':').
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libxlutil.h>

static void json_str(const char *s) {
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') printf("\\%c", *p);
        else if (*p < 0x20) printf("\\u%04x", *p);
        else putchar(*p);
    }
    putchar('"');
}

#define MAX_KEYS 256

static int collect_keys(const char *path, char keys[MAX_KEYS][64]) {
    FILE *f = fopen(path, "r");
    char line[8192];
    int n = 0;
    if (!f) return -1;
    while (fgets(line, sizeof line, f) && n < MAX_KEYS) {
        char *p = line, *start;
        while (isspace((unsigned char)*p)) p++;
        if (!(isalpha((unsigned char)*p) || *p == '_')) continue;
        start = p;
        while (isalnum((unsigned char)*p) || *p == '_') p++;
        if ((size_t)(p - start) >= 64) continue;
        {
            char *q = p;
            while (*q == ' ' || *q == '\t') q++;
            if (*q != '=' && !(q[0] == '+' && q[1] == '=')) continue;
        }
        memcpy(keys[n], start, p - start);
        keys[n][p - start] = 0;
        n++;
    }
    fclose(f);
    return n;
}

static void print_disk(XLU_Config *cfg, const char *spec) {
    libxl_device_disk disk;
    const char *specs[1] = { spec };
    int rc;
    libxl_device_disk_init(&disk);
    rc = xlu_disk_parse(cfg, 1, specs, &disk);
    if (rc) {
        printf("{\"error\":%d}", rc);
    } else {
        printf("{\"vdev\":"); json_str(disk.vdev ? disk.vdev : "");
        printf(",\"target\":"); json_str(disk.pdev_path ? disk.pdev_path : "");
        printf(",\"format\":"); json_str(libxl_disk_format_to_string(disk.format));
        printf(",\"backend\":"); json_str(libxl_disk_backend_to_string(disk.backend));
        printf(",\"readwrite\":%d}", disk.readwrite);
    }
    libxl_device_disk_dispose(&disk);
}

static void print_vif(const char *spec) {
    char *copy = strdup(spec), *save = NULL, *tok;
    int first = 1, bad = 0;
    putchar('{');
    for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq, *k = tok, *v, *end;
        while (isspace((unsigned char)*k)) k++;
        eq = strchr(k, '=');
        if (!eq) { bad = 1; continue; }
        *eq = 0;
        v = eq + 1;
        end = eq - 1;
        while (end >= k && isspace((unsigned char)*end)) *end-- = 0;
        if (!strcmp(k, "mac")) {
            /* as xl's parse_nic_config: strtoul base 16 per byte, ':' between */
            const char *p = v;
            for (int i = 0; i < 6; i++) {
                char *e;
                unsigned long b = strtoul(p, &e, 16);
                if (p == e || b > 255 || (*e != ':' && i < 5)) { bad = 1; break; }
                p = e + 1;
            }
        }
        if (!first) putchar(',');
        first = 0;
        json_str(k); putchar(':'); json_str(v);
    }
    if (bad) printf("%s\"error\":1", first ? "" : ",");
    putchar('}');
    free(copy);
}

int main(int argc, char **argv) {
    XLU_Config *cfg;
    char keys[MAX_KEYS][64];
    int nkeys, rc;

    if (argc != 2) { fprintf(stderr, "usage: xlu-parse FILE\n"); return 64; }
    cfg = xlu_cfg_init(stderr, argv[1]);
    if (!cfg) { perror("xlu_cfg_init"); return 1; }
    rc = xlu_cfg_readfile(cfg, argv[1]);
    if (rc) {
        fprintf(stderr, "xlu_cfg_readfile: %s\n", strerror(rc));
        xlu_cfg_destroy(cfg);
        return 2;
    }
    nkeys = collect_keys(argv[1], keys);
    if (nkeys < 0) { perror(argv[1]); return 1; }

    printf("{\"settings\":{");
    for (int i = 0; i < nkeys; i++) {
        XLU_ConfigList *list;
        int n;
        const char *s;
        long l;
        if (i) putchar(',');
        json_str(keys[i]);
        putchar(':');
        if (!xlu_cfg_get_list(cfg, keys[i], &list, &n, 1)) {
            printf("{\"list\":[");
            for (int j = 0; j < n; j++) {
                const char *item = xlu_cfg_get_listitem(list, j);
                if (j) putchar(',');
                if (item) json_str(item); else printf("null");
            }
            printf("]}");
        } else if (!xlu_cfg_get_string(cfg, keys[i], &s, 1)) {
            printf("{\"string\":");
            json_str(s);
            if (!xlu_cfg_get_long(cfg, keys[i], &l, 1)) printf(",\"long\":%ld", l);
            putchar('}');
        } else {
            printf("{\"error\":\"unreadable\"}");
        }
    }
    printf("},\"disks\":[");
    {
        XLU_ConfigList *list;
        int n;
        if (!xlu_cfg_get_list(cfg, "disk", &list, &n, 1)) {
            for (int j = 0; j < n; j++) {
                if (j) putchar(',');
                print_disk(cfg, xlu_cfg_get_listitem(list, j));
            }
        }
    }
    printf("],\"vifs\":[");
    {
        XLU_ConfigList *list;
        int n;
        if (!xlu_cfg_get_list(cfg, "vif", &list, &n, 1)) {
            for (int j = 0; j < n; j++) {
                if (j) putchar(',');
                print_vif(xlu_cfg_get_listitem(list, j));
            }
        }
    }
    printf("]}\n");
    xlu_cfg_destroy(cfg);
    return 0;
}
