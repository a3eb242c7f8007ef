/* stb_impl.c - the one translation unit that compiles the stb image decoder
 * and PNG encoder (headers from Debian's libstb-dev, never vendored).
 *
 * Files are read by sal_read_file and decoded from memory, so stb's stdio
 * entry points are left out (they are also useless in wasm).  Only the
 * formats a photo is likely to come in are compiled.  STBI_MAX_DIMENSIONS
 * caps the side length a (possibly hostile) header may claim before stb
 * allocates anything. */
#define STBI_NO_STDIO
#define STBI_WRITE_NO_STDIO
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#define STBI_ONLY_GIF
#define STBI_NO_LINEAR
#define STBI_FAILURE_USERMSG
#define STBI_MAX_DIMENSIONS 16384

#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_WRITE_IMPLEMENTATION

#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#endif

#include <stb_image.h>
#include <stb_image_write.h>

#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
