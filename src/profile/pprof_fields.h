/* pprof_fields.h - the field numbers of pprof's Profile message
 * (profile.proto), for its writer (render/pprof.c) and its reader
 * (capture/pprof_read.c). */
#ifndef KILN_PROFILE_PPROF_FIELDS_H
#define KILN_PROFILE_PPROF_FIELDS_H

enum pprof_profile_field {
	P_SAMPLE_TYPE = 1,
	P_SAMPLE = 2,
	P_MAPPING = 3,
	P_LOCATION = 4,
	P_FUNCTION = 5,
	P_STRING_TABLE = 6,
	P_TIME_NANOS = 9,
	P_DURATION_NANOS = 10,
	P_PERIOD_TYPE = 11,
	P_PERIOD = 12,
	P_COMMENT = 13,
	P_DEFAULT_SAMPLE_TYPE = 14,
};

#endif
