# The dependency rule of the tree (cmake/BmcLayout.cmake): tests/unit/layout/ is a miniature
# tree declared with the same functions; layout_check.py configures it legal (it must build
# and run) and with each deliberate violation (it must stop at configure time, naming it).
bmc_add_test(NAME layout.rule LABEL unit TIMEOUT 120
  COMMAND ${BMC_PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/layout_check.py ${CMAKE_SOURCE_DIR}
          ${CMAKE_CURRENT_BINARY_DIR}/layout ${CMAKE_COMMAND})
