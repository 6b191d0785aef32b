#ifndef CLEAVE_CPGQUERY_SHIM_H
#define CLEAVE_CPGQUERY_SHIM_H
/* The PostgreSQL parser as a C library (Debian libpg-query-dev). */
#include <pg_query.h>
#endif
