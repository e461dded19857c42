/* unit_main.h - the main() of a cmocka test: runs the tests listed (each
 * cmocka_unit_test(fn)) as one group without set-up or tear-down. Include
 * after cmocka.h. */
#ifndef ACCL_TEST_UNIT_MAIN_H_
#define ACCL_TEST_UNIT_MAIN_H_

#define UNIT_TEST_MAIN(...)                           \
  int main(void) {                                    \
    const struct CMUnitTest tests[] = {__VA_ARGS__};  \
    return cmocka_run_group_tests(tests, NULL, NULL); \
  }

#endif
