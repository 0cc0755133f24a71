# SPDX-License-Identifier: GPL-2.0-or-later
# Fuzzer for the configuration loader (config/). The seed corpus is this folder's hand-made
# seeds plus every good and bad configuration of tests/config and the example config, gathered
# at configure time so the corpus never goes stale.
set(_seeds ${CMAKE_CURRENT_BINARY_DIR}/config_loader-seeds)
file(REMOVE_RECURSE ${_seeds})
file(GLOB _seed_files
  ${CMAKE_CURRENT_SOURCE_DIR}/config_loader_corpus/*
  ${PROJECT_SOURCE_DIR}/tests/config/good/*.yaml
  ${PROJECT_SOURCE_DIR}/tests/config/bad/*.yaml
  ${PROJECT_SOURCE_DIR}/systemd/veeam-ha.yaml.example)
file(COPY ${_seed_files} DESTINATION ${_seeds})

# Coverage feedback needs the library under test instrumented, not only the harness.
target_compile_options(veeamha_config PRIVATE -fsanitize=fuzzer-no-link)

veeamha_fuzzer(NAME config_loader_fuzzer
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/config_loader_fuzzer.cc
  LIBRARIES veeamha_config
  CORPUS ${_seeds}
  SECONDS 60)
