# SPDX-License-Identifier: GPL-2.0-or-later
# Frame decoder of net/ (sealed heartbeat and channel frames) and the protobuf parse behind it.
veeamha_fuzzer(NAME veeamha_frame_decoder_fuzzer
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/frame_decoder.cc
  LIBRARIES veeamha_net
  CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/frame_decoder_corpus
  SECONDS 60)
