// SPDX-License-Identifier: Apache-2.0
/* collector/objstore_s3.c: AWS Signature Version 4 against the published example. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "unit.h"
#include "../../common/gzip.h"
#include "../../collector/block.h"
#include "../../collector/ingest.h"
#include "../../collector/objstore_impl.h"
#include "../../profile/svcdata.h"
#include "../../common/util.h"
#include "otlp_fixture.h"
#include "../../proto/otlp_pb.h"

/* AWS's own example of a signed S3 request ("GET Bucket (List Objects)", SigV4 documentation). */
static void test_sigv4(void)
{
	char sig[65];

	s3_signature("GET", "/", "max-keys=2&prefix=J", "examplebucket.s3.amazonaws.com",
		     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		     "20130524T000000Z", "us-east-1", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		     NULL, sig);
	CHECK_STR(sig, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

int main(void)
{
	RUN(test_sigv4);
	return unit_done();
}
