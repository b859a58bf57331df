/*
 * indices_int.h — shared by the files of src/indices only.
 */
#ifndef FERRY_INDICES_INT_H
#define FERRY_INDICES_INT_H

#include "indices/indices.h"

#include <pthread.h>

struct indices {
    store *st;
    const config *cfg;
    pthread_mutex_t cache_lock;   /* guards cache */
    index_view **cache;           /* the latest view of each index */
    size_t n_cache;
    pthread_mutex_t meta_lock;    /* serializes read-modify-write of index metadata */
    pthread_mutex_t cluster_lock; /* guards persistent / transient */
    index_settings *persistent;   /* dynamic cluster settings, flat keys */
    index_settings *transient;
};

#endif
