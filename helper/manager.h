/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "bus-names.h"
#include "image.h"
#include "sandbox.h"

typedef struct Job Job;

typedef struct Manager {
        sd_event *event;
        sd_bus *bus;
        Job *jobs;
        unsigned next_job_id;
        /* A build that runs longer is killed (--build-timeout-sec). */
        uint64_t build_timeout_usec;
        /* The bus name was given back after the idle timeout; exit once the last job is gone. */
        bool released;
        bool releasing;
        /* Removed images still being deleted by a child (RemoveImage, Prune answer before that ends). */
        unsigned deleting;
} Manager;

struct Job {
        Manager *manager;
        Job *next;
        uint32_t id;
        char *path;
        char *sandbox;
        char image_id[IMAGE_ID_HEX_LEN + 1];
        double progress;
        char *status;
        char *error;
        char *tmpdir;
        /* The build's cgroup (build-cgroup.h) and UID range (confine.h); tag names both. */
        char *cgroup;
        char *tag;
        /* The build's network (SANDY_BUILD_NETWORK_PREFIX tag) when it downloads, and its resolver. */
        char *network;
        sd_event_source *dns_source;
        uid_t uid_base;
        pid_t pid;
        int fd;
        bool canceled, timed_out;
        /* How the builder ended (siginfo si_code and si_status), once it did. */
        bool builder_done;
        int builder_code, builder_status;
        sd_event_source *io_source, *child_source, *timeout_source, *cgroup_source;
        sd_bus_slot *slot;
        /* EnsureImage calls waiting for this build. */
        sd_bus_message **waiters;
        size_t n_waiters;
        char buf[4096];
        size_t buf_len;
};

int manager_register(Manager *m);
Job *manager_find_job(Manager *m, const char *image_id);
/* Fork the builder for s. */
int job_start(Manager *m, const Sandbox *s, const char *image_id, bool force, Job **ret);
int job_add_waiter(Job *j, sd_bus_message *msg);
/* At start: remove the networks of builds an earlier instance left (nothing of them runs any more). */
void manager_clean_build_networks(void);
/* SIGTERM: kill every build's cgroup, wait until it is empty, then remove its temporary directory. */
void manager_abort_jobs(Manager *m);
