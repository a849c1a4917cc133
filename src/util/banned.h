/* banned.h - functions kiln never calls; using one fails the build. */
#ifndef KILN_UTIL_BANNED_H
#define KILN_UTIL_BANNED_H

#define BANNED(func) sorry_##func##_is_banned_use_snprintf_or_strbuf

#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef strtok
#define strtok(x, y) BANNED(strtok)
#undef gets
#define gets(x) BANNED(gets)

#endif
