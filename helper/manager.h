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
        /* The bus name was given back after the idle timeout; exit once the last job is gone. */
        bool released;
        bool releasing;
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
        pid_t pid;
        int fd;
        bool canceled;
        sd_event_source *io_source, *child_source;
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
/* SIGTERM: kill every builder and remove its temporary directory. */
void manager_abort_jobs(Manager *m);
