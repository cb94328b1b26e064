/* tests/fuzz/fuzz_xml_util.h: what the XML body targets (fuzz_delete_xml,
 * fuzz_mpu_xml) share: whether expat itself sees a document type
 * declaration in an input, the reference a parser that refuses DOCTYPEs is
 * checked against. A header of static functions, like fuzz_util.h. */
#ifndef SHOAL_TESTS_FUZZ_XML_UTIL_H
#define SHOAL_TESTS_FUZZ_XML_UTIL_H

#include <expat.h>
#include <stdlib.h>

static void XMLCALL fuzz_saw_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                                     const XML_Char *pubid, int has_internal_subset)
{
    (void)name;
    (void)sysid;
    (void)pubid;
    (void)has_internal_subset;
    *(int *)ud = 1;
}

/* fuzz_has_doctype: whether expat sees a document type declaration in BODY. */
static int fuzz_has_doctype(const char *body, size_t len)
{
    XML_Parser x = XML_ParserCreate("UTF-8");
    int seen = 0;
    if (!x)
        abort();
    XML_SetUserData(x, &seen);
    XML_SetStartDoctypeDeclHandler(x, fuzz_saw_doctype);
    XML_Parse(x, body, (int)len, 1);
    XML_ParserFree(x);
    return seen;
}

#endif
