/* inline_fixture.h - a small C program with an inlined helper, for the
 * unit tests that build it with debug info (debug cache, name cache):
 * outer_work() calls inner_add(), forced inline, in a loop. */
#ifndef KILN_TESTS_INLINE_FIXTURE_H
#define KILN_TESTS_INLINE_FIXTURE_H

static const char fixture_c[] __attribute__((unused)) =
    "static int sink;\n"
    "static inline __attribute__((always_inline)) int inner_add(int x)\n"
    "{\n"
    "\tsink += x * 3;\n"
    "\treturn sink;\n"
    "}\n"
    "__attribute__((noinline)) int outer_work(int n)\n"
    "{\n"
    "\tint t = 0;\n"
    "\tfor (int i = 0; i < n; i++)\n"
    "\t\tt += inner_add(i);\n"
    "\treturn t;\n"
    "}\n"
    "int main(int argc, char **argv)\n"
    "{\n"
    "\t(void)argv;\n"
    "\treturn outer_work(argc * 1000) & 1;\n"
    "}\n";

#endif
