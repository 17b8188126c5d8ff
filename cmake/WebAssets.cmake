# The dashboard's files (web/) are compiled into the binary: the daemon serves them from
# memory, so there is no install path to get wrong, no CDN, and it works offline.
# uPlot comes from npm, pinned in web/package-lock.json; `npm ci` runs in a copy of web/'s
# manifest in the build directory, so the source tree is left alone. A developer who ran
# `npm ci` in web/ (for the browser test) can point PERFBPF_NODE_MODULES at that instead.
set(PERFBPF_NODE_MODULES "" CACHE PATH
    "An installed node_modules holding web/package-lock.json's packages (default: npm ci in the build dir)")

set(PERFBPF_WEB_DIR ${CMAKE_SOURCE_DIR}/web)
set(PERFBPF_WEB_BUILD_DIR ${CMAKE_BINARY_DIR}/web)
file(MAKE_DIRECTORY ${PERFBPF_WEB_BUILD_DIR})
if(PERFBPF_NODE_MODULES)
  set(PERFBPF_NODE_MODULES_DIR ${PERFBPF_NODE_MODULES})
  if(NOT EXISTS ${PERFBPF_NODE_MODULES_DIR}/uplot/dist/uPlot.iife.min.js)
    message(FATAL_ERROR "PERFBPF_NODE_MODULES=${PERFBPF_NODE_MODULES}: no uplot/dist/uPlot.iife.min.js "
                        "there (run `npm ci` in web/)")
  endif()
  add_custom_target(perfbpf_node_modules)
else()
  find_program(PERFBPF_NPM npm)
  if(NOT PERFBPF_NPM)
    message(FATAL_ERROR
      "npm not found: the build installs the dashboard's uPlot with `npm ci` from "
      "web/package-lock.json. Install it with scripts/install-deps.sh (Debian's nodejs and "
      "npm), or set PERFBPF_NODE_MODULES to a node_modules installed from that lock file.")
  endif()
  set(PERFBPF_NODE_MODULES_DIR ${PERFBPF_WEB_BUILD_DIR}/node_modules)
  # The stamp is rewritten only when npm ci succeeded, so a failed install is retried.
  set(stamp ${PERFBPF_WEB_BUILD_DIR}/npm-ci.stamp)
  add_custom_command(
    OUTPUT ${stamp}
    COMMAND ${CMAKE_COMMAND} -E copy ${PERFBPF_WEB_DIR}/package.json
            ${PERFBPF_WEB_DIR}/package-lock.json ${PERFBPF_WEB_BUILD_DIR}/
    # No browser download (the tests drive Debian's chromium), no install scripts.
    COMMAND ${CMAKE_COMMAND} -E env PUPPETEER_SKIP_DOWNLOAD=1
            ${PERFBPF_NPM} ci --ignore-scripts --no-audit --no-fund --loglevel=error
    COMMAND ${CMAKE_COMMAND} -E touch ${stamp}
    WORKING_DIRECTORY ${PERFBPF_WEB_BUILD_DIR}
    DEPENDS ${PERFBPF_WEB_DIR}/package.json ${PERFBPF_WEB_DIR}/package-lock.json
    COMMENT "npm ci (web/package-lock.json)"
    VERBATIM)
  add_custom_target(perfbpf_node_modules DEPENDS ${stamp})
  set(PERFBPF_NODE_MODULES_STAMP ${stamp})
endif()

# URL path, kind (html, js, css), file: what the generated source holds.
set(PERFBPF_WEB_ASSETS
    "/|html|${PERFBPF_WEB_DIR}/index.html"
    "/app.js|js|${PERFBPF_WEB_DIR}/app.js"
    "/app.css|css|${PERFBPF_WEB_DIR}/app.css"
    "/uPlot.iife.min.js|js|${PERFBPF_NODE_MODULES_DIR}/uplot/dist/uPlot.iife.min.js"
    "/uPlot.min.css|css|${PERFBPF_NODE_MODULES_DIR}/uplot/dist/uPlot.min.css")
set(asset_files)
foreach(a IN LISTS PERFBPF_WEB_ASSETS)
  string(REPLACE "|" ";" parts "${a}")
  list(GET parts 2 file)
  list(APPEND asset_files ${file})
endforeach()
set(PERFBPF_WEB_ASSETS_CPP ${PERFBPF_WEB_BUILD_DIR}/dashboard_assets.cpp)
# The list goes through a file: a list argument would be split on its way to the script.
set(assets_list ${PERFBPF_WEB_BUILD_DIR}/assets.list)
string(REPLACE ";" "\n" assets_text "${PERFBPF_WEB_ASSETS}")
file(CONFIGURE OUTPUT ${assets_list} CONTENT "${assets_text}\n")
add_custom_command(
  OUTPUT ${PERFBPF_WEB_ASSETS_CPP}
  COMMAND ${CMAKE_COMMAND} -DASSETS_LIST=${assets_list} -DOUTPUT=${PERFBPF_WEB_ASSETS_CPP}
          -P ${CMAKE_SOURCE_DIR}/cmake/EmbedAssets.cmake
  DEPENDS ${asset_files} ${assets_list} ${PERFBPF_NODE_MODULES_STAMP} ${CMAKE_SOURCE_DIR}/cmake/EmbedAssets.cmake
  COMMENT "Embedding the dashboard (web/) into dashboard_assets.cpp"
  VERBATIM)
add_custom_target(perfbpf_web_assets DEPENDS ${PERFBPF_WEB_ASSETS_CPP})
add_dependencies(perfbpf_web_assets perfbpf_node_modules)
